package inv.bench.streams;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The keeper as one Kafka Streams processor. Input: StockMovements keyed by
 * sku, so every row of a SKU (its locations and its network row) lives in
 * the task of the SKU's partition, one writer, in order. State: two
 * RocksDB key-value stores with changelogs (stock rows keyed sku|location,
 * applied movement ids for de-duplication). Outputs: one StockLevel per
 * changed row, ReorderEvents, ShortageEvents, and dead letters with the
 * contract's headers. Exactly-once comes from processing.guarantee.
 */
final class KeeperProcessor implements Processor<byte[], byte[], Object, Object> {
    static final String STOCK_STORE = "stock";
    static final String DEDUP_STORE = "dedup";
    static final String STOCK_SINK = "stock-sink", REORDER_SINK = "reorders-sink", SHORTAGE_SINK = "shortages-sink",
            DLQ_SINK = "dlq-sink";

    private final Rules.Policy policy;
    private final long networkThreshold;
    private final long dedupWindowMs;
    private final Duration pruneEvery;

    private ProcessorContext<Object, Object> ctx;
    private KeyValueStore<String, StockRow> stock;
    private KeyValueStore<String, Long> dedup;
    private long streamTime = Long.MIN_VALUE;

    KeeperProcessor(Rules.Policy policy, long dedupWindowMs, Duration pruneEvery) {
        this.policy = policy;
        this.networkThreshold = policy.safetyStock(); // no sku|* policy: the default's safety stock
        this.dedupWindowMs = dedupWindowMs;
        this.pruneEvery = pruneEvery;
    }

    @Override public void init(ProcessorContext<Object, Object> context) {
        ctx = context;
        stock = context.getStateStore(STOCK_STORE);
        dedup = context.getStateStore(DEDUP_STORE);
        context.schedule(pruneEvery, PunctuationType.WALL_CLOCK_TIME, now -> prune());
    }

    @Override public void process(Record<byte[], byte[]> rec) {
        Movement m;
        try {
            m = Movement.decode(rec.value());
        } catch (Movement.Invalid e) {
            deadLetter(rec, e.getMessage());
            return;
        }
        long ts = rec.timestamp();
        if (ts > streamTime) streamTime = ts;
        String locKey = m.sku + '|' + m.locationId, netKey = m.sku + "|*";
        StockRow loc = stock.get(locKey), net = stock.get(netKey);
        Rules.Result r = Rules.apply(m, policy, networkThreshold, loc != null ? loc : new StockRow(),
                net != null ? net : new StockRow());
        if (r.error != null) {
            deadLetter(rec, r.error);
            return;
        }
        if (dedup.get(m.movementId) != null) return; // a re-sent movement changes nothing
        dedup.put(m.movementId, ts);
        if (r.locationChanged) {
            stock.put(locKey, r.location);
            ctx.forward(new Record<>(locKey, new JsonOut.StockLevel(m.sku, m.locationId, r.location), ts), STOCK_SINK);
        }
        if (r.networkChanged) {
            stock.put(netKey, r.network);
            ctx.forward(new Record<>(netKey, new JsonOut.StockLevel(m.sku, Rules.NETWORK, r.network), ts), STOCK_SINK);
        }
        if (r.reorder != null) ctx.forward(new Record<>(locKey, r.reorder, ts), REORDER_SINK);
        if (r.shortage1 != null) forwardShortage(r.shortage1, ts);
        if (r.shortage2 != null) forwardShortage(r.shortage2, ts);
    }

    private void forwardShortage(Rules.Shortage s, long ts) {
        ctx.forward(new Record<>(s.sku() + '|' + s.locationId(), s, ts), SHORTAGE_SINK);
    }

    private void deadLetter(Record<byte[], byte[]> rec, String reason) {
        RecordHeaders h = new RecordHeaders();
        h.add("inv.error", reason.getBytes(StandardCharsets.UTF_8));
        RecordMetadata md = ctx.recordMetadata().orElse(null);
        if (md != null) {
            h.add("inv.source.topic", md.topic().getBytes(StandardCharsets.UTF_8));
            h.add("inv.source.partition", Integer.toString(md.partition()).getBytes(StandardCharsets.UTF_8));
            h.add("inv.source.offset", Long.toString(md.offset()).getBytes(StandardCharsets.UTF_8));
        }
        ctx.forward(new Record<Object, Object>(rec.key(), rec.value(), rec.timestamp(), h), DLQ_SINK);
    }

    /** Drops movement ids older than the de-duplication window (by stream time). */
    private void prune() {
        if (streamTime == Long.MIN_VALUE) return;
        long horizon = streamTime - dedupWindowMs;
        try (KeyValueIterator<String, Long> it = dedup.all()) {
            while (it.hasNext()) {
                KeyValue<String, Long> kv = it.next();
                if (kv.value < horizon) dedup.delete(kv.key);
            }
        }
    }
}
