-- Each installation's target URL for external events: <public-url>/in/<target_token>.
ALTER TABLE installations ADD COLUMN target_token TEXT;
CREATE UNIQUE INDEX installations_by_target_token ON installations (target_token);
