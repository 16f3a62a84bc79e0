package inv.bench.streams;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.StreamPartitioner;
import org.apache.kafka.streams.state.Stores;

/**
 * The Kafka Streams peer of inv-stock (tests/bench/run.sh).
 *
 *   java -Xmx1g -cp 'target/keeper-streams.jar:target/lib/*' inv.bench.streams.KeeperApp \
 *        brokers=127.0.0.1:9092 application.id=ID state.dir=DIR topic.movements=T ...
 *
 * Keys (defaults as inv-stock's): brokers, application.id, state.dir,
 * topic.movements|stock|reorders|shortages|dlq, threads (num.stream.threads, 2),
 * commit.interval.ms (100), policy.default.reorder_point|reorder_quantity|
 * safety_stock (0), dedup.window.ms (7 days); any streams.<prop> is passed
 * to Kafka Streams as <prop>. Every SKU uses the default policy: the peer
 * reads no policies topic (the benchmark sets none on either side).
 */
public final class KeeperApp {
    private KeeperApp() {}

    /** Stock rows go to the partition of their SKU (murmur2(sku) mod N), as inv-stock writes them. */
    static final class SkuPartitioner implements StreamPartitioner<String, JsonOut.StockLevel> {
        @Override @SuppressWarnings("deprecation")
        public Integer partition(String topic, String key, JsonOut.StockLevel value, int numPartitions) {
            return Utils.toPositive(Utils.murmur2(value.sku().getBytes(StandardCharsets.UTF_8))) % numPartitions;
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> c = new HashMap<>();
        c.put("brokers", "127.0.0.1:9092");
        c.put("application.id", "inv-stock-streams");
        c.put("state.dir", "./streams-state");
        c.put("topic.movements", "inventory.movements");
        c.put("topic.stock", "inventory.stock");
        c.put("topic.reorders", "inventory.reorders");
        c.put("topic.shortages", "inventory.shortages");
        c.put("topic.dlq", "inventory.dlq");
        c.put("threads", "2"); // one per core of the benchmark box: the best throughput there
        c.put("commit.interval.ms", "100");
        c.put("policy.default.reorder_point", "0");
        c.put("policy.default.reorder_quantity", "0");
        c.put("policy.default.safety_stock", "0");
        c.put("dedup.window.ms", Long.toString(Duration.ofDays(7).toMillis()));
        Properties extra = new Properties();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq <= 0) {
                System.err.println("keeper-streams: expected key=value, got " + a);
                System.exit(2);
            }
            String k = a.substring(0, eq), v = a.substring(eq + 1);
            if (k.startsWith("streams.")) extra.put(k.substring(8), v);
            else if (c.containsKey(k)) c.put(k, v);
            else {
                System.err.println("keeper-streams: unknown key " + k);
                System.exit(2);
            }
        }

        Rules.Policy policy = new Rules.Policy(Long.parseLong(c.get("policy.default.reorder_point")),
                Long.parseLong(c.get("policy.default.reorder_quantity")),
                Long.parseLong(c.get("policy.default.safety_stock")));
        long window = Long.parseLong(c.get("dedup.window.ms"));
        // pruning scans the id store: hourly is plenty for a window of days
        Duration pruneEvery = Duration.ofMillis(Math.max(60_000L, Math.min(window / 10, 3_600_000L)));

        Topology t = new Topology();
        t.addSource("movements", new ByteArrayDeserializer(), new ByteArrayDeserializer(), c.get("topic.movements"));
        t.addProcessor("keeper", () -> new KeeperProcessor(policy, window, pruneEvery), "movements");
        // Stock rows: cached, so a row changed several times between commits reaches RocksDB
        // and its changelog once.
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(KeeperProcessor.STOCK_STORE),
                Serdes.String(), StockRow.serde()).withCachingEnabled(), "keeper");
        // Movement ids are written once and read back only for a re-sent movement: a record
        // cache would only add its sorted-map upkeep, with the same RocksDB and changelog writes.
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(KeeperProcessor.DEDUP_STORE),
                Serdes.String(), Serdes.Long()).withCachingDisabled(), "keeper");
        t.addSink(KeeperProcessor.STOCK_SINK, c.get("topic.stock"), new StringSerializer(),
                new JsonOut.StockLevelSerializer(), new SkuPartitioner(), "keeper");
        t.addSink(KeeperProcessor.REORDER_SINK, c.get("topic.reorders"), new StringSerializer(),
                new JsonOut.ReorderSerializer(), "keeper");
        t.addSink(KeeperProcessor.SHORTAGE_SINK, c.get("topic.shortages"), new StringSerializer(),
                new JsonOut.ShortageSerializer(), "keeper");
        t.addSink(KeeperProcessor.DLQ_SINK, c.get("topic.dlq"), new ByteArraySerializer(), new ByteArraySerializer(),
                "keeper");

        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, c.get("application.id"));
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, c.get("brokers"));
        p.put(StreamsConfig.STATE_DIR_CONFIG, c.get("state.dir"));
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, c.get("commit.interval.ms"));
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, c.get("threads"));
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 10L * 1024 * 1024);
        p.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedMemoryRocksDBConfig.class);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), "lz4"); // as inv-stock
        // The producer's 16 KB default batches cap an EOS app that writes ~3 records per
        // input across 24 partitions (outputs and changelogs): measured 2x slower here.
        p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), 256 * 1024);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        p.putAll(extra);

        KafkaStreams streams = new KafkaStreams(t, p);
        CountDownLatch done = new CountDownLatch(1);
        streams.setStateListener((now, before) -> {
            System.err.println("keeper-streams: " + before + " -> " + now);
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) done.countDown();
        });
        streams.setUncaughtExceptionHandler(e -> {
            System.err.println("keeper-streams: stream thread failed: " + e);
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse
                    .SHUTDOWN_CLIENT;
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(30));
            done.countDown();
        }, "shutdown"));
        streams.start();
        done.await();
        streams.close(Duration.ofSeconds(30));
        System.exit(streams.state() == KafkaStreams.State.ERROR ? 1 : 0);
    }
}
