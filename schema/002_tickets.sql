-- 002_tickets: customers and their contacts, orders, tickets with SLA
-- clocks, links, notes, the hash-chained event history, compensation with
-- approval limits, follow-ups, satisfaction ratings, business calendars and
-- SLA policies.
--
-- 001 created customers, tickets and ticket_events in a first form that no
-- server operation ever wrote to, so they are dropped and re-created here
-- rather than altered column by column. 001 itself stays as it was: applied
-- migrations are checksummed and must never change.
--
-- Conventions, for every table below:
-- * Every DATETIME(3) holds UTC: callcentred sets time_zone='+00:00' on each
--   connection. Local time exists only in calendar_hours, interpreted in the
--   site's time zone (sites.time_zone from 001, an IANA name such as
--   'Asia/Shanghai'; no ALTER is needed).
-- * Money is an integer count of minor units (fen for CNY) next to an ISO 4217
--   currency code, so no sum is ever rounded.
-- * ENUMs name closed sets that code switches on; appending a value later is
--   an instant ALTER in MariaDB and MySQL 8.
-- * CHECK constraints never name an AUTO_INCREMENT column (MySQL 8 refuses
--   that), so "not merged into itself" is checked by the server. A CHECK
--   whose value is NULL passes, so nullable columns are tested with IS NULL
--   or IS NOT NULL explicitly.

DROP TABLE IF EXISTS ticket_events, tickets, customers;

-- One person, however many ways they reach us. merged_into makes a merge
-- reversible: nothing is moved, so clearing merged_into undoes it. Readers
-- follow merged_into to the surviving customer, whose history is its own
-- plus that of every customer merged into it.
CREATE TABLE customers (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name            VARCHAR(128) NOT NULL DEFAULT '',
  site_id         INT UNSIGNED NULL,
  region          VARCHAR(64)  NULL,
  language        VARCHAR(16)  NOT NULL DEFAULT 'zh-CN',
  value_tier      ENUM('new','potential','regular','old','loyal') NOT NULL DEFAULT 'new',
  -- RFM scores 1 (low) to 5 (high) as last computed from orders; routing and
  -- the screen pop read these instead of aggregating orders on every contact.
  rfm_recency     TINYINT UNSIGNED NULL,
  rfm_frequency   TINYINT UNSIGNED NULL,
  rfm_monetary    TINYINT UNSIGNED NULL,
  rfm_at          DATETIME(3)  NULL,
  -- Set when someone is judged to file malicious complaints; kept with the
  -- reason so the judgement itself can be reviewed.
  flagged_at      DATETIME(3)  NULL,
  flag_reason     VARCHAR(255) NULL,
  merged_into     BIGINT UNSIGNED NULL,
  merged_at       DATETIME(3)  NULL,
  merged_by       INT UNSIGNED NULL,
  created_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  KEY ix_customers_name (name),
  KEY ix_customers_site (site_id),
  KEY ix_customers_merged_into (merged_into),
  CONSTRAINT ck_customers_rfm CHECK ((rfm_recency IS NULL OR rfm_recency BETWEEN 1 AND 5)
    AND (rfm_frequency IS NULL OR rfm_frequency BETWEEN 1 AND 5)
    AND (rfm_monetary IS NULL OR rfm_monetary BETWEEN 1 AND 5)),
  CONSTRAINT ck_customers_merge CHECK ((merged_into IS NULL) = (merged_at IS NULL)),
  CONSTRAINT ck_customers_flag CHECK ((flagged_at IS NULL) = (flag_reason IS NULL)),
  CONSTRAINT fk_customers_site FOREIGN KEY (site_id) REFERENCES sites (id),
  CONSTRAINT fk_customers_merged_into FOREIGN KEY (merged_into) REFERENCES customers (id),
  CONSTRAINT fk_customers_merged_by FOREIGN KEY (merged_by) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- value is normalised before it is stored (phones in E.164, e-mail in lower
-- case, member ids as the shop spells them) and compared byte for byte, so a
-- contact belongs to exactly one customer.
CREATE TABLE customer_contacts (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id     BIGINT UNSIGNED NOT NULL,
  kind            ENUM('phone','email','member_id') NOT NULL,
  value           VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  is_primary      TINYINT(1)   NOT NULL DEFAULT 0,
  created_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uk_customer_contacts_kind_value (kind, value),
  KEY ix_customer_contacts_value (value),
  KEY ix_customer_contacts_customer (customer_id),
  CONSTRAINT fk_customer_contacts_customer FOREIGN KEY (customer_id)
    REFERENCES customers (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The shop's orders, as posted by the shop integration: the source of RFM
-- and of return and repeat-purchase rates.
CREATE TABLE orders (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  external_id     VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  customer_id     BIGINT UNSIGNED NOT NULL,
  amount_minor    BIGINT UNSIGNED NOT NULL,
  refunded_minor  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  currency        CHAR(3)      NOT NULL DEFAULT 'CNY',
  status          ENUM('placed','paid','shipped','delivered','cancelled','returned','refunded')
                  NOT NULL DEFAULT 'placed',
  ordered_at      DATETIME(3)  NOT NULL,
  updated_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uk_orders_external (external_id),
  KEY ix_orders_customer_time (customer_id, ordered_at),
  KEY ix_orders_time (ordered_at),
  CONSTRAINT ck_orders_refund CHECK (refunded_minor <= amount_minor),
  CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One customer matter. The state machine is server/ticket_state.c; the
-- CHECKs below hold the invariants that every transition there keeps (its
-- unit test checks the table against the same rules), so a bug in an
-- operation fails its transaction instead of storing nonsense: new and
-- queued tickets have no owner; offered, in_progress, pending_customer and
-- resolved ones have an owner and a queue; queued and offered ones keep
-- their place in line (enqueued_at); resolved and closed ones carry their
-- time stamps.
--
-- owning_site_id fences ownership between sites: exactly one site serves a
-- ticket, and cross-site hand-over changes it under the version check.
-- version is bumped by every write; an UPDATE ... WHERE version = ? that
-- matches no row is a conflict. last_event_seq and last_event_hash are the
-- head of the ticket's event chain, written in the same transaction as the
-- event, so that deleting events at the tail is detected too.
-- severity is the complaint grade: 1 (gravest) to 4 (mildest), NULL until
-- graded. priority: 1 (lowest) to 9 (most urgent), 5 by default.
CREATE TABLE tickets (
  id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ref                 VARCHAR(32)  NOT NULL,
  kind                ENUM('call','complaint','inquiry','return_refund') NOT NULL,
  channel             ENUM('phone','web','email','chat','sms') NOT NULL,
  severity            TINYINT UNSIGNED NULL,
  priority            TINYINT UNSIGNED NOT NULL DEFAULT 5,
  state               ENUM('new','queued','offered','in_progress','pending_customer','resolved','closed')
                      NOT NULL DEFAULT 'new',
  subject             VARCHAR(255) NOT NULL DEFAULT '',
  language            VARCHAR(16)  NULL,
  customer_id         BIGINT UNSIGNED NULL,
  order_id            BIGINT UNSIGNED NULL,
  site_id             INT UNSIGNED NULL,
  queue_id            INT UNSIGNED NULL,
  owner_agent_id      INT UNSIGNED NULL,
  owning_site_id      INT UNSIGNED NOT NULL,
  version             INT UNSIGNED NOT NULL DEFAULT 1,
  escalation_level    TINYINT UNSIGNED NOT NULL DEFAULT 0,
  enqueued_at         DATETIME(3)  NULL,
  -- The SLA clocks themselves are in ticket_sla_clocks; the due times here
  -- copy their breach instants (NULL while a clock is paused or stopped) so
  -- that lists and reports can sort and filter on them.
  sla_policy_id       INT UNSIGNED NULL,
  first_response_due  DATETIME(3)  NULL,
  next_response_due   DATETIME(3)  NULL,
  resolution_due      DATETIME(3)  NULL,
  first_responded_at  DATETIME(3)  NULL,
  resolved_at         DATETIME(3)  NULL,
  closed_at           DATETIME(3)  NULL,
  reopen_count        SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  resolution_code     VARCHAR(32)  NULL,
  resolution_summary  VARCHAR(2000) NULL,
  -- SHA-256 of the random token in the customer's status-page link; the
  -- token itself is never stored, so the public ref alone reveals nothing.
  status_token_hash   BINARY(32)   NULL,
  last_event_seq      INT UNSIGNED NOT NULL DEFAULT 0,
  last_event_hash     BINARY(32)   NULL,
  created_at          DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at          DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  UNIQUE KEY uk_tickets_ref (ref),
  KEY ix_tickets_customer_created (customer_id, created_at),
  KEY ix_tickets_queue_state (queue_id, state, enqueued_at),
  KEY ix_tickets_owner_state (owner_agent_id, state),
  KEY ix_tickets_state_resolution_due (state, resolution_due),
  KEY ix_tickets_owning_site_state (owning_site_id, state),
  KEY ix_tickets_order (order_id),
  CONSTRAINT ck_tickets_severity CHECK (severity IS NULL OR severity BETWEEN 1 AND 4),
  CONSTRAINT ck_tickets_priority CHECK (priority BETWEEN 1 AND 9),
  CONSTRAINT ck_tickets_owner CHECK (
    (state IN ('new','queued') AND owner_agent_id IS NULL)
    OR (state IN ('offered','in_progress','pending_customer','resolved')
        AND owner_agent_id IS NOT NULL)
    OR state = 'closed'),
  CONSTRAINT ck_tickets_queue CHECK (state IN ('new','closed') OR queue_id IS NOT NULL),
  CONSTRAINT ck_tickets_waiting CHECK (state NOT IN ('queued','offered') OR enqueued_at IS NOT NULL),
  CONSTRAINT ck_tickets_resolved CHECK (state <> 'resolved' OR resolved_at IS NOT NULL),
  CONSTRAINT ck_tickets_closed CHECK (state <> 'closed' OR closed_at IS NOT NULL),
  CONSTRAINT ck_tickets_events CHECK ((last_event_seq = 0) = (last_event_hash IS NULL)),
  CONSTRAINT fk_tickets_customer FOREIGN KEY (customer_id) REFERENCES customers (id),
  CONSTRAINT fk_tickets_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT fk_tickets_site FOREIGN KEY (site_id) REFERENCES sites (id),
  CONSTRAINT fk_tickets_queue FOREIGN KEY (queue_id) REFERENCES queues (id),
  CONSTRAINT fk_tickets_owner FOREIGN KEY (owner_agent_id) REFERENCES agents (id),
  CONSTRAINT fk_tickets_owning_site FOREIGN KEY (owning_site_id) REFERENCES sites (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- "from kind to": A followup_of B (A was opened because closed B was
-- reopened), A merged_into B, A related B. A row is the current state of a
-- link; unlinking deletes it, and both tickets' event chains record either
-- change, so every link is reversible and its history is kept. A ticket is
-- a follow-up of, or merged into, at most one other (one_per_kind is NULL
-- for related links, which a unique key ignores); related links are stored
-- once, smaller id first.
CREATE TABLE ticket_links (
  from_ticket_id      BIGINT UNSIGNED NOT NULL,
  kind                ENUM('related','followup_of','merged_into') NOT NULL,
  to_ticket_id        BIGINT UNSIGNED NOT NULL,
  one_per_kind        BIGINT UNSIGNED AS (CASE WHEN kind = 'related' THEN NULL ELSE from_ticket_id END) STORED,
  created_by          INT UNSIGNED NULL,
  created_at          DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (from_ticket_id, kind, to_ticket_id),
  UNIQUE KEY uk_ticket_links_one (one_per_kind, kind),
  KEY ix_ticket_links_to (to_ticket_id, kind),
  CONSTRAINT ck_ticket_links_self CHECK (from_ticket_id <> to_ticket_id),
  CONSTRAINT ck_ticket_links_related CHECK (kind <> 'related' OR from_ticket_id < to_ticket_id),
  CONSTRAINT fk_ticket_links_from FOREIGN KEY (from_ticket_id) REFERENCES tickets (id),
  CONSTRAINT fk_ticket_links_to FOREIGN KEY (to_ticket_id) REFERENCES tickets (id),
  CONSTRAINT fk_ticket_links_by FOREIGN KEY (created_by) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Append-only: the server only INSERTs here, in the transaction that
-- changes the ticket. hash = SHA-256(prev_hash || canonical row) as
-- server/audit.c defines it; the first event of a ticket has 32 zero bytes
-- as prev_hash. The hash covers every column but id, so each value must be
-- stored exactly as hashed:
-- * detail is TEXT with a JSON_VALID check, not JSON: MySQL's JSON type
--   re-serialises documents, which would change the hashed bytes;
-- * created_at is given by the writer (no default), truncated to the
--   millisecond the hash uses;
-- * actor is the agent's user name when actor_agent_id is set (the name at
--   the time, as agents may be renamed), otherwise 'system' or 'customer'.
-- No trigger forbids UPDATE or DELETE: creating triggers needs privileges
-- a least-privilege migration account lacks on a replicated MySQL, and a
-- database administrator could drop a trigger anyway; the chain, with its
-- head on the ticket row, is what proves nothing was rewritten.
CREATE TABLE ticket_events (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ticket_id       BIGINT UNSIGNED NOT NULL,
  seq             INT UNSIGNED NOT NULL,
  actor_agent_id  INT UNSIGNED NULL,
  actor           VARCHAR(64)  NOT NULL,
  op              VARCHAR(64)  NOT NULL,
  old_value       VARCHAR(255) NULL,
  new_value       VARCHAR(255) NULL,
  detail          TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  created_at      DATETIME(3)  NOT NULL,
  prev_hash       BINARY(32)   NOT NULL,
  hash            BINARY(32)   NOT NULL,
  UNIQUE KEY uk_ticket_events_seq (ticket_id, seq),
  KEY ix_ticket_events_actor (actor_agent_id, created_at),
  CONSTRAINT ck_ticket_events_seq CHECK (seq >= 1),
  CONSTRAINT ck_ticket_events_detail CHECK (detail IS NULL OR JSON_VALID(detail)),
  CONSTRAINT fk_ticket_events_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id),
  CONSTRAINT fk_ticket_events_actor FOREIGN KEY (actor_agent_id) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Notes are never edited: a correction is a new note. visibility 'customer'
-- is shown on the status page and sent to the customer; 'internal' never
-- leaves the agents. The event that records a note carries its id.
CREATE TABLE ticket_notes (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ticket_id       BIGINT UNSIGNED NOT NULL,
  author_kind     ENUM('agent','customer','system') NOT NULL,
  author_agent_id INT UNSIGNED NULL,
  visibility      ENUM('internal','customer') NOT NULL DEFAULT 'internal',
  body            TEXT NOT NULL,
  created_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_ticket_notes_ticket (ticket_id, created_at),
  CONSTRAINT ck_ticket_notes_author CHECK ((author_kind = 'agent') = (author_agent_id IS NOT NULL)),
  CONSTRAINT ck_ticket_notes_customer CHECK (author_kind <> 'customer' OR visibility = 'customer'),
  CONSTRAINT fk_ticket_notes_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id),
  CONSTRAINT fk_ticket_notes_author FOREIGN KEY (author_agent_id) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Compensation after a complaint: requested -> approved | rejected, then
-- approved -> issued. approver_id is the agent who decided (the requester
-- when within the requester's own limit). The CHECK ties the time stamps
-- to the state so a report can trust them.
CREATE TABLE compensations (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ticket_id       BIGINT UNSIGNED NOT NULL,
  customer_id     BIGINT UNSIGNED NOT NULL,
  order_id        BIGINT UNSIGNED NULL,
  kind            ENUM('refund','coupon','gift','apology_letter','exchange') NOT NULL,
  amount_minor    BIGINT UNSIGNED NOT NULL DEFAULT 0,
  currency        CHAR(3)      NOT NULL DEFAULT 'CNY',
  state           ENUM('requested','approved','rejected','issued') NOT NULL DEFAULT 'requested',
  reason          VARCHAR(500) NOT NULL,
  requested_by    INT UNSIGNED NOT NULL,
  requested_at    DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  approver_id     INT UNSIGNED NULL,
  decided_at      DATETIME(3)  NULL,
  decision_note   VARCHAR(500) NULL,
  issued_at       DATETIME(3)  NULL,
  -- the shop's id for the refund, coupon or shipment once issued
  external_ref    VARCHAR(64)  NULL,
  version         INT UNSIGNED NOT NULL DEFAULT 1,
  KEY ix_compensations_ticket (ticket_id),
  KEY ix_compensations_customer (customer_id, requested_at),
  KEY ix_compensations_state (state, requested_at),
  CONSTRAINT ck_compensations_state CHECK (
    (state = 'requested' AND approver_id IS NULL AND decided_at IS NULL AND issued_at IS NULL)
    OR (state IN ('approved','rejected') AND approver_id IS NOT NULL AND decided_at IS NOT NULL
        AND issued_at IS NULL)
    OR (state = 'issued' AND approver_id IS NOT NULL AND decided_at IS NOT NULL
        AND issued_at IS NOT NULL)),
  CONSTRAINT fk_compensations_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id),
  CONSTRAINT fk_compensations_customer FOREIGN KEY (customer_id) REFERENCES customers (id),
  CONSTRAINT fk_compensations_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT fk_compensations_requested_by FOREIGN KEY (requested_by) REFERENCES agents (id),
  CONSTRAINT fk_compensations_approver FOREIGN KEY (approver_id) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The most a role may approve for one compensation of a kind and currency;
-- max_amount_minor NULL means no limit. No row: the role may not approve
-- that kind at all and the request waits for a higher role.
CREATE TABLE compensation_limits (
  role              ENUM('agent','supervisor','admin') NOT NULL,
  kind              ENUM('refund','coupon','gift','apology_letter','exchange') NOT NULL,
  currency          CHAR(3)      NOT NULL DEFAULT 'CNY',
  max_amount_minor  BIGINT UNSIGNED NULL,
  PRIMARY KEY (role, kind, currency)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Starting limits in fen; operators change them with UPDATE.
INSERT INTO compensation_limits (role, kind, currency, max_amount_minor) VALUES
  ('agent', 'apology_letter', 'CNY', 0),
  ('agent', 'coupon', 'CNY', 2000),
  ('agent', 'gift', 'CNY', 5000),
  ('supervisor', 'apology_letter', 'CNY', 0),
  ('supervisor', 'coupon', 'CNY', 20000),
  ('supervisor', 'gift', 'CNY', 20000),
  ('supervisor', 'refund', 'CNY', 100000),
  ('supervisor', 'exchange', 'CNY', 100000),
  ('admin', 'apology_letter', 'CNY', NULL),
  ('admin', 'coupon', 'CNY', NULL),
  ('admin', 'gift', 'CNY', NULL),
  ('admin', 'refund', 'CNY', NULL),
  ('admin', 'exchange', 'CNY', NULL);

-- Scheduled contacts: call-backs and checks after a complaint (ticket set),
-- and care, thanks and win-back contacts that need no ticket. Open
-- follow-ups are those with done_at NULL.
CREATE TABLE followups (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id       BIGINT UNSIGNED NOT NULL,
  ticket_id         BIGINT UNSIGNED NULL,
  purpose           ENUM('callback','complaint_check','care','thanks','win_back','survey') NOT NULL,
  due_at            DATETIME(3)  NOT NULL,
  assignee_agent_id INT UNSIGNED NULL,
  created_by        INT UNSIGNED NULL,
  created_at        DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  done_at           DATETIME(3)  NULL,
  outcome           ENUM('reached','no_answer','declined','wrong_contact','cancelled') NULL,
  outcome_note      VARCHAR(1000) NULL,
  KEY ix_followups_due (done_at, due_at),
  KEY ix_followups_assignee (assignee_agent_id, done_at, due_at),
  KEY ix_followups_ticket (ticket_id),
  KEY ix_followups_customer (customer_id, due_at),
  CONSTRAINT ck_followups_done CHECK ((done_at IS NULL) = (outcome IS NULL)),
  CONSTRAINT fk_followups_customer FOREIGN KEY (customer_id) REFERENCES customers (id),
  CONSTRAINT fk_followups_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id),
  CONSTRAINT fk_followups_assignee FOREIGN KEY (assignee_agent_id) REFERENCES agents (id),
  CONSTRAINT fk_followups_created_by FOREIGN KEY (created_by) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Satisfaction after service. A reopened ticket may be rated again after
-- it is resolved again, so a rating is unique per ticket and round (the
-- ticket's reopen_count when rated). agent_id is the owner when rated,
-- kept here because the ticket's owner may change later.
CREATE TABLE csat (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ticket_id       BIGINT UNSIGNED NOT NULL,
  round           SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  score           TINYINT UNSIGNED NOT NULL,
  comment         VARCHAR(1000) NULL,
  agent_id        INT UNSIGNED NULL,
  created_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uk_csat_ticket_round (ticket_id, round),
  KEY ix_csat_agent (agent_id, created_at),
  KEY ix_csat_created (created_at),
  CONSTRAINT ck_csat_score CHECK (score BETWEEN 1 AND 5),
  CONSTRAINT fk_csat_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id),
  CONSTRAINT fk_csat_agent FOREIGN KEY (agent_id) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A site's opening hours in its local time: weekday 1 = Monday .. 7 =
-- Sunday (ISO 8601; weekday % 7 is struct tm's tm_wday), several intervals
-- a day allowed (a lunch break is two rows), whole minutes, end_time up to
-- 24:00:00 so that a whole day is one row. A night shift is two rows:
-- [22:00, 24:00) and [00:00, 06:00) on the next weekday.
CREATE TABLE calendar_hours (
  site_id     INT UNSIGNED NOT NULL,
  weekday     TINYINT UNSIGNED NOT NULL,
  start_time  TIME NOT NULL,
  end_time    TIME NOT NULL,
  PRIMARY KEY (site_id, weekday, start_time),
  CONSTRAINT ck_calendar_hours_weekday CHECK (weekday BETWEEN 1 AND 7),
  CONSTRAINT ck_calendar_hours_span CHECK (start_time >= '00:00:00' AND start_time < end_time
    AND end_time <= '24:00:00'),
  CONSTRAINT ck_calendar_hours_minutes CHECK (TIME_TO_SEC(start_time) % 60 = 0
    AND TIME_TO_SEC(end_time) % 60 = 0),
  CONSTRAINT fk_calendar_hours_site FOREIGN KEY (site_id) REFERENCES sites (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Exceptions to calendar_hours for one local date: 'closed' for a public
-- holiday; 'working' for a day that is normally closed but worked (China
-- moves working days around public holidays), with the hours of the
-- weekday named in hours_of_weekday.
CREATE TABLE calendar_days (
  site_id           INT UNSIGNED NOT NULL,
  day               DATE NOT NULL,
  kind              ENUM('closed','working') NOT NULL,
  hours_of_weekday  TINYINT UNSIGNED NULL,
  note              VARCHAR(128) NOT NULL DEFAULT '',
  PRIMARY KEY (site_id, day),
  CONSTRAINT ck_calendar_days_hours CHECK ((kind = 'closed' AND hours_of_weekday IS NULL)
    OR (kind = 'working' AND hours_of_weekday IS NOT NULL AND hours_of_weekday BETWEEN 1 AND 7)),
  CONSTRAINT fk_calendar_days_site FOREIGN KEY (site_id) REFERENCES sites (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Promised handling times, one row per struct sla_policy (server/sla.h).
-- kind, severity, the priority bounds and channel NULL match any value;
-- the most specific matching row applies, the lower id among equals. Each
-- target counts business time (only while the owning site is open by its
-- calendar) or wall-clock time; seconds NULL: no target for that clock.
-- warn_percent: the share of a target after which the clock warns. The
-- built-in defaults live in server/sla.c (sla_policy_defaults); the table
-- starts empty so that the two cannot drift apart.
CREATE TABLE sla_policies (
  id                      INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name                    VARCHAR(64)  NOT NULL,
  kind                    ENUM('call','complaint','inquiry','return_refund') NULL,
  severity                TINYINT UNSIGNED NULL,
  priority_min            TINYINT UNSIGNED NULL,
  priority_max            TINYINT UNSIGNED NULL,
  channel                 ENUM('phone','web','email','chat','sms') NULL,
  first_response_seconds  INT UNSIGNED NULL,
  first_response_basis    ENUM('business','wall') NOT NULL DEFAULT 'business',
  next_response_seconds   INT UNSIGNED NULL,
  next_response_basis     ENUM('business','wall') NOT NULL DEFAULT 'business',
  resolution_seconds      INT UNSIGNED NULL,
  resolution_basis        ENUM('business','wall') NOT NULL DEFAULT 'wall',
  warn_percent            TINYINT UNSIGNED NOT NULL DEFAULT 80,
  UNIQUE KEY uk_sla_policies_name (name),
  CONSTRAINT ck_sla_policies_severity CHECK (severity IS NULL OR severity BETWEEN 1 AND 4),
  CONSTRAINT ck_sla_policies_priority CHECK ((priority_min IS NULL OR priority_min BETWEEN 1 AND 9)
    AND (priority_max IS NULL OR priority_max BETWEEN 1 AND 9)
    AND (priority_min IS NULL OR priority_max IS NULL OR priority_min <= priority_max)),
  -- at most 366 days, as SLA_MAX_TARGET
  CONSTRAINT ck_sla_policies_seconds CHECK (
    (first_response_seconds IS NULL OR first_response_seconds BETWEEN 1 AND 31622400)
    AND (next_response_seconds IS NULL OR next_response_seconds BETWEEN 1 AND 31622400)
    AND (resolution_seconds IS NULL OR resolution_seconds BETWEEN 1 AND 31622400)),
  CONSTRAINT ck_sla_policies_warn CHECK (warn_percent BETWEEN 1 AND 99)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE tickets ADD CONSTRAINT fk_tickets_sla_policy
  FOREIGN KEY (sla_policy_id) REFERENCES sla_policies (id);

-- One SLA clock per ticket and metric, the persisted form of struct
-- sla_clock (server/sla.h): only the facts from which its level, due time
-- and remaining time are recomputed, so a clock read back after a restart
-- needs no re-arming. elapsed_ms is the time counted before since_at (the
-- start of the running stretch, or when it paused or stopped); breach_at
-- is set once a settled stretch crossed the target; notified holds the
-- warning (1) and breach (2) bits already reported.
CREATE TABLE ticket_sla_clocks (
  ticket_id     BIGINT UNSIGNED NOT NULL,
  metric        ENUM('first_response','next_response','resolution') NOT NULL,
  state         ENUM('idle','running','paused','stopped') NOT NULL DEFAULT 'idle',
  basis         ENUM('business','wall') NOT NULL,
  target_ms     BIGINT UNSIGNED NOT NULL,
  warn_percent  TINYINT UNSIGNED NOT NULL,
  elapsed_ms    BIGINT UNSIGNED NOT NULL DEFAULT 0,
  since_at      DATETIME(3)  NULL,
  started_at    DATETIME(3)  NULL,
  breach_at     DATETIME(3)  NULL,
  notified      TINYINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (ticket_id, metric),
  CONSTRAINT ck_ticket_sla_clocks_notified CHECK (notified BETWEEN 0 AND 3),
  CONSTRAINT ck_ticket_sla_clocks_since CHECK (state = 'idle' OR since_at IS NOT NULL),
  CONSTRAINT fk_ticket_sla_clocks_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
