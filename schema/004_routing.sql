-- 004_routing: what the router needs beyond the queues, skills and agent
-- skills of 001 (docs/ROUTING.md has the rules these columns feed).
--
-- Queue policy: the wait steps (relax, then overflow to other sites; 0:
-- never), the estimated wait above which new work overflows at once (0:
-- off), how long an offer waits for an answer, wrap-up after work, how long
-- work waits for the agent who last served the customer (0: no sticky
-- routing), the average handling time used for estimated waits, and the
-- missed offers in a row after which an agent is paused. The router reads
-- these at start and again when an admin changes them (route.queue_set).
ALTER TABLE queues
  ADD COLUMN relax_seconds         INT UNSIGNED NOT NULL DEFAULT 30,
  ADD COLUMN overflow_seconds      INT UNSIGNED NOT NULL DEFAULT 90,
  ADD COLUMN ewt_overflow_seconds  INT UNSIGNED NOT NULL DEFAULT 0,
  ADD COLUMN offer_seconds         INT UNSIGNED NOT NULL DEFAULT 15,
  ADD COLUMN wrapup_seconds        INT UNSIGNED NOT NULL DEFAULT 10,
  ADD COLUMN sticky_seconds        INT UNSIGNED NOT NULL DEFAULT 20,
  ADD COLUMN aht_seconds           INT UNSIGNED NOT NULL DEFAULT 180,
  ADD COLUMN max_misses            TINYINT UNSIGNED NOT NULL DEFAULT 3,
  ADD CONSTRAINT ck_queues_offer CHECK (offer_seconds BETWEEN 1 AND 600),
  ADD CONSTRAINT ck_queues_wrapup CHECK (wrapup_seconds <= 3600),
  ADD CONSTRAINT ck_queues_steps CHECK (relax_seconds <= 86400 AND overflow_seconds <= 86400
    AND ewt_overflow_seconds <= 86400 AND sticky_seconds <= 3600),
  ADD CONSTRAINT ck_queues_aht CHECK (aht_seconds BETWEEN 1 AND 86400),
  ADD CONSTRAINT ck_queues_misses CHECK (max_misses BETWEEN 1 AND 20);

-- Capacity per channel class: live calls (phone) take the agent whole;
-- async work (web, e-mail, chat, sms tickets) is taken up to async_capacity
-- at a time.
ALTER TABLE agents
  ADD COLUMN voice_capacity  TINYINT UNSIGNED NOT NULL DEFAULT 1,
  ADD COLUMN async_capacity  TINYINT UNSIGNED NOT NULL DEFAULT 3,
  ADD CONSTRAINT ck_agents_capacity CHECK (voice_capacity <= 1 AND async_capacity <= 20);

-- The queues an agent serves. An agent without rows here serves every
-- queue of its own site and every queue without a site.
CREATE TABLE agent_queues (
  agent_id  INT UNSIGNED NOT NULL,
  queue_id  INT UNSIGNED NOT NULL,
  PRIMARY KEY (agent_id, queue_id),
  KEY ix_agent_queues_queue (queue_id),
  CONSTRAINT fk_agent_queues_agent FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
  CONSTRAINT fk_agent_queues_queue FOREIGN KEY (queue_id) REFERENCES queues (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The reasons an agent may give for a pause. 'missed' is the router's own
-- (too many missed offers) and cannot be chosen by an agent.
CREATE TABLE pause_reasons (
  code      VARCHAR(31)  NOT NULL PRIMARY KEY,
  name      VARCHAR(128) NOT NULL,
  selectable TINYINT(1)  NOT NULL DEFAULT 1
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO pause_reasons (code, name, selectable) VALUES
  ('break', 'Short break', 1),
  ('lunch', 'Meal break', 1),
  ('training', 'Training', 1),
  ('meeting', 'Meeting', 1),
  ('coaching', 'Coaching', 1),
  ('after_call', 'Extra after-call work', 1),
  ('missed', 'Missed offers', 0);
