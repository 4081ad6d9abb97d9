-- Retention deletes old records oldest first, in small batches: each kind is found by
-- its time without a scan.
CREATE INDEX events_by_time ON events (received_at);
CREATE INDEX invocations_by_time ON invocations (started_at);
CREATE INDEX delivery_attempts_by_time ON delivery_attempts (at);
