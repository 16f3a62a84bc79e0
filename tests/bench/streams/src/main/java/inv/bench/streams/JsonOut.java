package inv.bench.streams;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.kafka.common.serialization.Serializer;

/** JSON serializers of the keeper's outputs, field order as in schemas/*.avsc
 *  and times as "YYYY-MM-DDTHH:MM:SS.mmmZ", like the C encoder.  */
final class JsonOut {
    private JsonOut() {}

    private static final JsonFactory JSON = JsonFactory.builder().build();

    /** A StockLevel: the row plus its key parts. */
    record StockLevel(String sku, String locationId, StockRow row) {}

    private abstract static class Base<T> implements Serializer<T> {
        @Override public final byte[] serialize(String topic, T v) {
            if (v == null) return null;
            // per call, not per instance: a sink's serializer is shared by every stream thread
            ByteArrayBuilder out = new ByteArrayBuilder(256);
            try (JsonGenerator g = JSON.createGenerator(out)) {
                g.writeStartObject();
                write(g, v);
                g.writeEndObject();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return out.toByteArray();
        }

        abstract void write(JsonGenerator g, T v) throws IOException;

        static void time(JsonGenerator g, String name, long ms) throws IOException {
            char[] time = new char[24];
            Rfc3339.format(ms, time, 0);
            g.writeFieldName(name);
            g.writeString(time, 0, time.length);
        }
    }

    static final class StockLevelSerializer extends Base<StockLevel> {
        @Override void write(JsonGenerator g, StockLevel v) throws IOException {
            StockRow r = v.row();
            g.writeStringField("sku", v.sku());
            g.writeStringField("location_id", v.locationId());
            g.writeNumberField("on_hand", r.onHand);
            g.writeNumberField("unsellable", r.unsellable);
            g.writeNumberField("on_order", r.onOrder);
            g.writeNumberField("available", r.available);
            time(g, "updated_at", r.updatedAtMs);
            g.writeNumberField("version", r.version);
        }
    }

    static final class ReorderSerializer extends Base<Rules.Reorder> {
        @Override void write(JsonGenerator g, Rules.Reorder v) throws IOException {
            g.writeStringField("event_id", v.eventId());
            g.writeStringField("sku", v.sku());
            g.writeStringField("location_id", v.locationId());
            g.writeNumberField("quantity", v.quantity());
            g.writeNumberField("on_hand", v.onHand());
            g.writeNumberField("on_order", v.onOrder());
            g.writeNumberField("reorder_point", v.reorderPoint());
            time(g, "occurred_at", v.occurredAtMs());
            g.writeStringField("cause_movement_id", v.causeMovementId());
        }
    }

    static final class ShortageSerializer extends Base<Rules.Shortage> {
        @Override void write(JsonGenerator g, Rules.Shortage v) throws IOException {
            g.writeStringField("event_id", v.eventId());
            g.writeStringField("sku", v.sku());
            g.writeStringField("location_id", v.locationId());
            g.writeStringField("state", StockRow.shortageName(v.state()));
            g.writeNumberField("available", v.available());
            g.writeNumberField("threshold", v.threshold());
            time(g, "occurred_at", v.occurredAtMs());
        }
    }
}
