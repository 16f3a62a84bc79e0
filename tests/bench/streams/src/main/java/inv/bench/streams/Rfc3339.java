package inv.bench.streams;

import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/** RFC 3339 times as epoch milliseconds, written as the C codec writes them:
 *  "YYYY-MM-DDTHH:MM:SS.mmmZ" (always UTC, always three fraction digits). */
final class Rfc3339 {
    private Rfc3339() {}

    private static final long MS_PER_DAY = 86_400_000L;

    /** Fast path for "YYYY-MM-DDTHH:MM:SS[.f+](Z|+hh:mm)"; anything else goes
     *  through java.time. Throws IllegalArgumentException when not a time. */
    static long parse(String s) {
        int n = s.length();
        if (n >= 20 && s.charAt(4) == '-' && s.charAt(7) == '-' && (s.charAt(10) == 'T' || s.charAt(10) == 't')
                && s.charAt(13) == ':' && s.charAt(16) == ':') {
            int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
            int h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
            int p = 19, ms = 0;
            if (y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h <= 23 && mi >= 0 && mi <= 59
                    && sec >= 0 && sec <= 60) {
                if (p < n && s.charAt(p) == '.') {
                    p++;
                    int nd = 0;
                    while (p < n && s.charAt(p) >= '0' && s.charAt(p) <= '9') {
                        if (nd < 3) ms = ms * 10 + (s.charAt(p) - '0');
                        nd++;
                        p++;
                    }
                    if (nd == 0) throw new IllegalArgumentException(s);
                    for (; nd < 3; nd++) ms *= 10;
                }
                if (p == n - 1 && (s.charAt(p) == 'Z' || s.charAt(p) == 'z')) {
                    long days = daysFromCivil(y, mo, d);
                    return days * MS_PER_DAY + h * 3_600_000L + mi * 60_000L + sec * 1000L + ms;
                }
            }
        }
        try {
            return OffsetDateTime.parse(s).toInstant().toEpochMilli();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(s);
        }
    }

    private static int digits(String s, int at, int count) {
        int v = 0;
        for (int i = at; i < at + count; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') return -1;
            v = v * 10 + (c - '0');
        }
        return v;
    }

    /** Howard Hinnant's days_from_civil. */
    static long daysFromCivil(long y, int m, int d) {
        y -= m <= 2 ? 1 : 0;
        long era = (y >= 0 ? y : y - 399) / 400;
        long yoe = y - era * 400;
        long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
    }

    /** Writes the 24 characters of the time into out at off. */
    static void format(long ms, char[] out, int off) {
        long days = Math.floorDiv(ms, MS_PER_DAY);
        long rem = Math.floorMod(ms, MS_PER_DAY);
        long z = days + 719468;
        long era = (z >= 0 ? z : z - 146096) / 146097;
        long doe = z - era * 146097;
        long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        long y = yoe + era * 400;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        int d = (int) (doy - (153 * mp + 2) / 5 + 1);
        int m = (int) (mp < 10 ? mp + 3 : mp - 9);
        if (m <= 2) y++;
        int r = (int) rem;
        put(out, off, (int) y, 4);
        out[off + 4] = '-';
        put(out, off + 5, m, 2);
        out[off + 7] = '-';
        put(out, off + 8, d, 2);
        out[off + 10] = 'T';
        put(out, off + 11, r / 3_600_000, 2);
        out[off + 13] = ':';
        put(out, off + 14, r / 60_000 % 60, 2);
        out[off + 16] = ':';
        put(out, off + 17, r / 1000 % 60, 2);
        out[off + 19] = '.';
        put(out, off + 20, r % 1000, 3);
        out[off + 23] = 'Z';
    }

    private static void put(char[] out, int off, int v, int width) {
        for (int i = off + width - 1; i >= off; i--) {
            out[i] = (char) ('0' + v % 10);
            v /= 10;
        }
    }

    static String format(long ms) {
        char[] b = new char[24];
        format(ms, b, 0);
        return new String(b);
    }
}
