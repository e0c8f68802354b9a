-- 008_web: complaints filed through the public web gateway, and the
-- idempotency records of its retries (docs/PROTOCOL.md, "Web complaints and
-- the shop feed").
--
-- The status token itself is never stored. Its SHA-256 goes in
-- tickets.status_token_hash (from 002, made for it), so the ticket row that
-- complaint.status reads by ref carries what the token is checked against.

-- What the customer told the form, once per web complaint. The contact
-- fields are kept as given (the customer's own spelling, for the agent to
-- read); the customer record holds the normalised contacts. order_ref is
-- the shop's order number as given: it is kept even when no order has it
-- (tickets.order_id is set only when the order is the customer's).
CREATE TABLE web_complaints (
  ticket_id       BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  category        ENUM('delivery','product','refund','service','billing','other') NOT NULL,
  resolution      ENUM('refund','exchange','apology','compensation','other') NOT NULL,
  urgency         ENUM('low','normal','high','urgent') NOT NULL DEFAULT 'normal',
  language        VARCHAR(16)  CHARACTER SET ascii NOT NULL,
  contact_name    VARCHAR(128) NOT NULL,
  contact_phone   VARCHAR(32)  NULL,
  contact_email   VARCHAR(254) NULL,
  order_ref       VARCHAR(64)  NULL,
  created_at      DATETIME(3)  NOT NULL,
  CONSTRAINT ck_web_complaints_language CHECK (language IN ('zh-CN','en')),
  CONSTRAINT ck_web_complaints_contact CHECK (contact_phone IS NOT NULL
    OR contact_email IS NOT NULL),
  CONSTRAINT ck_web_complaints_name CHECK (contact_name <> ''),
  CONSTRAINT fk_web_complaints_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per idempotency key the gateway sent with complaint.file, for
-- 24 hours: a retry of the same request with the same key gets the same
-- ticket and token. key_hash is SHA-256 over the calling account, the key
-- and the whole request (server/store-web.c, web_idem_hash); token_xor is
-- the token's 32 random bytes XORed with SHA-256('cc-idem-token' || key),
-- so the token can be given back only to a caller who knows the key. Rows
-- older than 24 hours are ignored, and deleted in the background
-- (ix_web_idempotency_created).
CREATE TABLE web_idempotency (
  key_hash    BINARY(32)      NOT NULL PRIMARY KEY,
  ticket_id   BIGINT UNSIGNED NOT NULL,
  token_xor   BINARY(32)      NOT NULL,
  created_at  DATETIME(3)     NOT NULL,
  KEY ix_web_idempotency_created (created_at),
  KEY ix_web_idempotency_ticket (ticket_id),
  CONSTRAINT fk_web_idempotency_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
