package inv.bench.streams;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/** A StockMovement (schemas/StockMovement.avsc), decoded from JSON with
 *  Jackson's streaming parser and validated like the C codec does. */
final class Movement {
    enum Type { SALE, RETURN_RESELLABLE, RETURN_DAMAGED, RECEIPT, ADJUSTMENT, COUNT }

    static final String[] CHANNELS = {"store", "online", "marketplace", "b2b"};

    String movementId;
    String sku;
    String locationId;
    String channel; // null for restock movements
    Type type;
    long quantity;
    long occurredAtMs;
    String source;

    /** Input that is not a valid StockMovement: the message is the DLQ reason. */
    static final class Invalid extends Exception {
        Invalid(String msg) { super(msg, null, false, false); }
    }

    private static final JsonFactory JSON = JsonFactory.builder().build();

    static Type typeOf(String s) {
        switch (s) {
            case "sale": return Type.SALE;
            case "return_resellable": return Type.RETURN_RESELLABLE;
            case "return_damaged": return Type.RETURN_DAMAGED;
            case "receipt": return Type.RECEIPT;
            case "adjustment": return Type.ADJUSTMENT;
            case "count": return Type.COUNT;
            default: return null;
        }
    }

    static Movement decode(byte[] buf) throws Invalid {
        if (buf == null || buf.length == 0) throw new Invalid("empty message");
        if (buf[0] == 0) throw new Invalid("Avro input is not supported by the Streams benchmark peer");
        Movement m = new Movement();
        boolean hasQty = false, hasTime = false, hasType = false;
        try (JsonParser p = JSON.createParser(buf)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new Invalid("expected a JSON object");
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                switch (name) {
                    case "movement_id": m.movementId = string(p, v, name, 1024); break;
                    case "sku": m.sku = string(p, v, name, 256); break;
                    case "location_id": m.locationId = string(p, v, name, 256); break;
                    case "source": m.source = string(p, v, name, 256); break;
                    case "channel":
                        if (v == JsonToken.VALUE_NULL) {
                            m.channel = null;
                        } else {
                            String c = string(p, v, name, 32);
                            boolean ok = false;
                            for (String k : CHANNELS) ok |= k.equals(c);
                            if (!ok) throw new Invalid("channel: \"" + c + "\" is not one of store,online,marketplace,b2b");
                            m.channel = c;
                        }
                        break;
                    case "type": {
                        String s = string(p, v, name, 32);
                        m.type = typeOf(s);
                        if (m.type == null) throw new Invalid("type: \"" + s + "\" is not a movement type");
                        hasType = true;
                        break;
                    }
                    case "quantity":
                        if (v != JsonToken.VALUE_NUMBER_INT) throw new Invalid("quantity: expected an integer");
                        m.quantity = p.getLongValue();
                        hasQty = true;
                        break;
                    case "occurred_at":
                        try {
                            m.occurredAtMs = Rfc3339.parse(string(p, v, name, 64));
                        } catch (IllegalArgumentException e) {
                            throw new Invalid("occurred_at: not an RFC 3339 time");
                        }
                        hasTime = true;
                        break;
                    default:
                        p.skipChildren(); // unknown fields are ignored
                }
            }
            if (t != JsonToken.END_OBJECT) throw new Invalid("malformed JSON object");
            if (p.nextToken() != null) throw new Invalid("trailing data after the JSON object");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new Invalid("invalid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new Invalid("invalid JSON: " + e.getMessage());
        }
        if (m.movementId == null) throw new Invalid("movement_id: missing");
        if (m.sku == null) throw new Invalid("sku: missing");
        if (m.locationId == null) throw new Invalid("location_id: missing");
        if (m.source == null) throw new Invalid("source: missing");
        if (!hasType) throw new Invalid("type: missing");
        if (!hasQty) throw new Invalid("quantity: missing");
        if (!hasTime) throw new Invalid("occurred_at: missing");
        return m;
    }

    private static String string(JsonParser p, JsonToken v, String name, int max) throws IOException, Invalid {
        if (v != JsonToken.VALUE_STRING) throw new Invalid(name + ": expected a string");
        String s = p.getText();
        if (s.isEmpty() || s.length() > max) throw new Invalid(name + ": length out of range");
        return s;
    }
}
