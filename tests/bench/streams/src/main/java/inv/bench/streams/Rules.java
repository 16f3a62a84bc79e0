package inv.bench.streams;

/** The stock semantics of the contract, a line-by-line port of
 *  common/inv_rules.c (see inv_rules.h): the location row, the network row
 *  kept by deltas, reorder with on_order, shortage hysteresis, deterministic
 *  output ids. apply() works on copies and returns null for a movement the
 *  rules refuse (the caller dead-letters it), leaving the rows untouched. */
final class Rules {
    private Rules() {}

    static final String NETWORK = "*";

    /** The numbers of a reorder policy. */
    record Policy(long reorderPoint, long reorderQuantity, long safetyStock) {}

    record Reorder(String eventId, String sku, String locationId, long quantity, long onHand, long onOrder,
                   long reorderPoint, long occurredAtMs, String causeMovementId) {}

    record Shortage(String eventId, String sku, String locationId, byte state, long available, long threshold,
                    long occurredAtMs) {}

    /** What one movement did: the new rows (to store and publish when changed),
     *  an optional reorder, 0..2 shortage transitions (location's first). */
    static final class Result {
        StockRow location, network;
        boolean locationChanged, networkChanged;
        Reorder reorder;
        Shortage shortage1, shortage2;
        String error;
    }

    static byte shortageDerive(long available, long threshold) {
        if (available <= 0) return StockRow.OUT_OF_STOCK;
        if (available <= threshold) return StockRow.LOW;
        return StockRow.NONE;
    }

    private static byte shortageNext(byte cur, long available, long threshold) {
        byte s = shortageDerive(available, threshold);
        if (s != StockRow.NONE) return s;
        if (cur == StockRow.LOW || cur == StockRow.OUT_OF_STOCK) return StockRow.RESTORED;
        return cur;
    }

    private static boolean quantityValid(Movement m) {
        switch (m.type) {
            case SALE: case RETURN_RESELLABLE: case RETURN_DAMAGED: case RECEIPT: return m.quantity > 0;
            case COUNT: return m.quantity >= 0;
            case ADJUSTMENT: return true;
            default: return false;
        }
    }

    /** Applies m to copies of location and network; Result.error set when refused. */
    static Result apply(Movement m, Policy policy, long networkThreshold, StockRow location, StockRow network) {
        Result res = new Result();
        if (NETWORK.equals(m.locationId) || !quantityValid(m)) {
            res.error = m.movementId + ": invalid movement (unknown type, location \"*\", or quantity out of range)";
            return res;
        }
        try {
            StockRow l = location.copy(), n = network.copy();
            long q = m.quantity;
            switch (m.type) {
                case SALE: l.onHand = Math.subtractExact(l.onHand, q); break;
                case RETURN_RESELLABLE:
                case ADJUSTMENT: l.onHand = Math.addExact(l.onHand, q); break;
                case RETURN_DAMAGED: l.unsellable = Math.addExact(l.unsellable, q); break;
                case RECEIPT: {
                    long reduce = l.onOrder <= 0 ? 0 : Math.min(l.onOrder, q);
                    l.onHand = Math.addExact(l.onHand, q);
                    l.onOrder -= reduce;
                    break;
                }
                case COUNT: l.onHand = q; break;
            }
            l.available = Math.max(l.onHand, 0);

            long reorderQty = 0;
            long pos = Math.addExact(l.onHand, l.onOrder);
            if (pos <= policy.reorderPoint()) {
                long deficit = Math.addExact(Math.subtractExact(policy.reorderPoint(), pos), 1);
                reorderQty = Math.max(policy.reorderQuantity(), deficit);
                l.onOrder = Math.addExact(l.onOrder, reorderQty);
            }

            n.onHand = Math.addExact(n.onHand, Math.subtractExact(l.onHand, location.onHand));
            n.unsellable = Math.addExact(n.unsellable, Math.subtractExact(l.unsellable, location.unsellable));
            n.onOrder = Math.addExact(n.onOrder, Math.subtractExact(l.onOrder, location.onOrder));
            n.available = Math.addExact(n.available, Math.subtractExact(l.available, location.available));

            l.shortage = shortageNext(location.shortage, l.available, policy.safetyStock());
            n.shortage = shortageNext(network.shortage, n.available, networkThreshold);

            boolean lc = l.differs(location), nc = n.differs(network);
            if (lc) {
                l.version = Math.addExact(l.version, 1);
                l.updatedAtMs = m.occurredAtMs;
            }
            if (nc) {
                n.version = Math.addExact(n.version, 1);
                n.updatedAtMs = m.occurredAtMs;
            }
            res.location = l;
            res.network = n;
            res.locationChanged = lc;
            res.networkChanged = nc;
            if (reorderQty > 0)
                res.reorder = new Reorder("reorder:" + m.movementId, m.sku, m.locationId, reorderQty, l.onHand,
                        l.onOrder, policy.reorderPoint(), m.occurredAtMs, m.movementId);
            if (l.shortage != location.shortage)
                res.shortage1 = shortage(m, m.locationId, l, policy.safetyStock());
            if (n.shortage != network.shortage) {
                Shortage s = shortage(m, NETWORK, n, networkThreshold);
                if (res.shortage1 == null) res.shortage1 = s; else res.shortage2 = s;
            }
            return res;
        } catch (ArithmeticException e) {
            res.error = m.movementId + ": stock quantity would overflow a 64-bit integer";
            return res;
        }
    }

    private static Shortage shortage(Movement m, String loc, StockRow after, long threshold) {
        String state = StockRow.shortageName(after.shortage);
        return new Shortage("shortage:" + loc + ":" + state + ":" + m.movementId, m.sku, loc, after.shortage,
                after.available, threshold, m.occurredAtMs);
    }
}
