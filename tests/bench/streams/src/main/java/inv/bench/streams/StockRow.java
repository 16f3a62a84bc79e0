package inv.bench.streams;

import java.nio.ByteBuffer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/** The stored state of one stock row (sku|location or the sku|* network
 *  row), as inv_stock_row_t: plain values, serialized as 57 fixed bytes. */
final class StockRow {
    static final byte NONE = 0, LOW = 1, OUT_OF_STOCK = 2, RESTORED = 3;

    long onHand, unsellable, onOrder, available, version, updatedAtMs;
    byte shortage = NONE;

    StockRow copy() {
        StockRow r = new StockRow();
        r.onHand = onHand;
        r.unsellable = unsellable;
        r.onOrder = onOrder;
        r.available = available;
        r.version = version;
        r.updatedAtMs = updatedAtMs;
        r.shortage = shortage;
        return r;
    }

    boolean differs(StockRow o) {
        return onHand != o.onHand || unsellable != o.unsellable || onOrder != o.onOrder
                || available != o.available || shortage != o.shortage;
    }

    static String shortageName(byte s) {
        switch (s) {
            case LOW: return "low";
            case OUT_OF_STOCK: return "out_of_stock";
            case RESTORED: return "restored";
            default: return "none";
        }
    }

    static final int SIZE = 6 * 8 + 1;

    static byte[] toBytes(StockRow r) {
        if (r == null) return null;
        return ByteBuffer.allocate(SIZE).putLong(r.onHand).putLong(r.unsellable).putLong(r.onOrder)
                .putLong(r.available).putLong(r.version).putLong(r.updatedAtMs).put(r.shortage).array();
    }

    static StockRow fromBytes(byte[] b) {
        if (b == null) return null;
        ByteBuffer bb = ByteBuffer.wrap(b);
        StockRow r = new StockRow();
        r.onHand = bb.getLong();
        r.unsellable = bb.getLong();
        r.onOrder = bb.getLong();
        r.available = bb.getLong();
        r.version = bb.getLong();
        r.updatedAtMs = bb.getLong();
        r.shortage = bb.get();
        return r;
    }

    static Serde<StockRow> serde() {
        Serializer<StockRow> ser = (topic, r) -> toBytes(r);
        Deserializer<StockRow> de = (topic, b) -> fromBytes(b);
        return Serdes.serdeFrom(ser, de);
    }
}
