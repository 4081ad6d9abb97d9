-- The admin's instance-wide view of deliveries asks "what is pending or dead right now",
-- across every account: found by status, in id order (the list's cursor), without a scan.
-- Delivered rows, the bulk, stay out of the index, so the hot path pays one index entry
-- per delivery while it waits, and none once it is delivered.
CREATE INDEX unfinished_deliveries ON deliveries (status, event_id, subscription_id)
    WHERE status <> 'delivered';
