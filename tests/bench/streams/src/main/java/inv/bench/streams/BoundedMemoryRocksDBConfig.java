package inv.bench.streams;

import java.util.Map;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.WriteBufferManager;

/** RocksDB bounded to one shared block cache and memtable budget for every
 *  store of the instance, as the Kafka Streams memory-management guide
 *  recommends (otherwise each of the 12 stores gets its own cache and
 *  memtables). Sizes from system properties inv.rocksdb.total.mb (64) and
 *  inv.rocksdb.memtable.mb (16). */
public final class BoundedMemoryRocksDBConfig implements RocksDBConfigSetter {
    private static final long TOTAL = Long.getLong("inv.rocksdb.total.mb", 64) << 20;
    private static final long MEMTABLE = Long.getLong("inv.rocksdb.memtable.mb", 16) << 20;
    private static final Cache CACHE = new LRUCache(TOTAL, -1, false, 0.1);
    private static final WriteBufferManager WBM = new WriteBufferManager(MEMTABLE, CACHE);

    @Override public void setConfig(String storeName, Options options, Map<String, Object> configs) {
        BlockBasedTableConfig table = (BlockBasedTableConfig) options.tableFormatConfig();
        table.setBlockCache(CACHE);
        table.setCacheIndexAndFilterBlocks(true);
        table.setCacheIndexAndFilterBlocksWithHighPriority(true);
        table.setPinTopLevelIndexAndFilter(true);
        options.setWriteBufferManager(WBM);
        options.setTableFormatConfig(table);
    }

    @Override public void close(String storeName, Options options) {
        // the cache and the write buffer manager are shared: never closed here
    }
}
