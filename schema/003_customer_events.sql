-- 003_customer_events: the history of changes to a customer record that
-- are not ticket events, starting with merges.
--
-- Append-only, like ticket_events: the server only INSERTs here, in the
-- transaction that makes the change. customer.merge and customer.unmerge
-- write one row on each of the two customers ("merge" with detail
-- {"into": survivor id} on the duplicate and {"merged": duplicate id} on
-- the survivor; "unmerge" likewise), so either record shows who merged or
-- split it and when. actor is the agent's user name when actor_agent_id is
-- set (the name at the time), otherwise 'system'. detail is TEXT with a
-- JSON_VALID check, as in ticket_events. The merge itself lives on the
-- customers row (merged_into, merged_at, merged_by): this table is its
-- audit trail, never read to decide anything.
CREATE TABLE customer_events (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id     BIGINT UNSIGNED NOT NULL,
  actor_agent_id  INT UNSIGNED NULL,
  actor           VARCHAR(64)  NOT NULL,
  op              VARCHAR(64)  NOT NULL,
  detail          TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  created_at      DATETIME(3)  NOT NULL,
  KEY ix_customer_events_customer (customer_id, created_at),
  KEY ix_customer_events_actor (actor_agent_id, created_at),
  CONSTRAINT ck_customer_events_detail CHECK (detail IS NULL OR JSON_VALID(detail)),
  CONSTRAINT fk_customer_events_customer FOREIGN KEY (customer_id) REFERENCES customers (id),
  CONSTRAINT fk_customer_events_actor FOREIGN KEY (actor_agent_id) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
