-- A refused install removes its installation and all it made, but the records of its
-- handler runs stay: they say why it was refused (the refusal names its record). So an
-- invocation record no longer goes with its installation by a foreign key; an account's
-- records go with the account instead (`delete_account` deletes them).
ALTER TABLE invocations DROP CONSTRAINT invocations_installation_id_fkey;
