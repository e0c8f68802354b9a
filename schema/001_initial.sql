-- 001_initial: sites, skills, agents, queues, customers, tickets and their
-- append-only event history. utf8mb4 throughout; InnoDB for transactions.

CREATE TABLE sites (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code        VARCHAR(16)  NOT NULL,
  name        VARCHAR(128) NOT NULL,
  time_zone   VARCHAR(64)  NOT NULL DEFAULT 'UTC',
  created_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uk_sites_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE skills (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code        VARCHAR(64)  NOT NULL,
  name        VARCHAR(128) NOT NULL,
  kind        ENUM('language','product','task','level') NOT NULL DEFAULT 'task',
  UNIQUE KEY uk_skills_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE agents (
  id              INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  username        VARCHAR(64)  NOT NULL,
  display_name    VARCHAR(128) NOT NULL,
  role            ENUM('agent','supervisor','admin','service') NOT NULL DEFAULT 'agent',
  site_id         INT UNSIGNED NULL,
  password_hash   VARCHAR(255) NOT NULL,
  active          TINYINT(1)   NOT NULL DEFAULT 1,
  created_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  last_login_at   DATETIME(3)  NULL,
  UNIQUE KEY uk_agents_username (username),
  KEY ix_agents_site (site_id),
  CONSTRAINT fk_agents_site FOREIGN KEY (site_id) REFERENCES sites (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE agent_skills (
  agent_id     INT UNSIGNED NOT NULL,
  skill_id     INT UNSIGNED NOT NULL,
  proficiency  TINYINT UNSIGNED NOT NULL,
  PRIMARY KEY (agent_id, skill_id),
  KEY ix_agent_skills_skill (skill_id, proficiency),
  CONSTRAINT ck_agent_skills_proficiency CHECK (proficiency BETWEEN 1 AND 5),
  CONSTRAINT fk_agent_skills_agent FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
  CONSTRAINT fk_agent_skills_skill FOREIGN KEY (skill_id) REFERENCES skills (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Resume tokens: only a SHA-256 of the token is stored.
CREATE TABLE agent_sessions (
  token_hash  BINARY(32)   NOT NULL PRIMARY KEY,
  agent_id    INT UNSIGNED NOT NULL,
  created_at  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  expires_at  DATETIME(3)  NOT NULL,
  peer        VARCHAR(64)  NOT NULL DEFAULT '',
  KEY ix_agent_sessions_agent (agent_id),
  KEY ix_agent_sessions_expires (expires_at),
  CONSTRAINT fk_agent_sessions_agent FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- site_id NULL: a queue served across all sites.
CREATE TABLE queues (
  id                 INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code               VARCHAR(64)  NOT NULL,
  name               VARCHAR(128) NOT NULL,
  site_id            INT UNSIGNED NULL,
  strategy           ENUM('longest_idle','least_occupancy','best_proficiency','round_robin','fewest_today')
                     NOT NULL DEFAULT 'longest_idle',
  priority           TINYINT UNSIGNED NOT NULL DEFAULT 5,
  sl_target_seconds  INT UNSIGNED NOT NULL DEFAULT 20,
  created_at         DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uk_queues_code (code),
  CONSTRAINT fk_queues_site FOREIGN KEY (site_id) REFERENCES sites (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE queue_skills (
  queue_id         INT UNSIGNED NOT NULL,
  skill_id         INT UNSIGNED NOT NULL,
  min_proficiency  TINYINT UNSIGNED NOT NULL DEFAULT 1,
  PRIMARY KEY (queue_id, skill_id),
  CONSTRAINT fk_queue_skills_queue FOREIGN KEY (queue_id) REFERENCES queues (id) ON DELETE CASCADE,
  CONSTRAINT fk_queue_skills_skill FOREIGN KEY (skill_id) REFERENCES skills (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE customers (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name          VARCHAR(128) NOT NULL,
  phone         VARCHAR(32)  NULL,
  email         VARCHAR(254) NULL,
  site_id       INT UNSIGNED NULL,
  language      VARCHAR(16)  NOT NULL DEFAULT 'zh-CN',
  value_tier    ENUM('new','potential','regular','old','loyal') NOT NULL DEFAULT 'new',
  created_at    DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at    DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  KEY ix_customers_phone (phone),
  KEY ix_customers_email (email),
  KEY ix_customers_name (name),
  CONSTRAINT fk_customers_site FOREIGN KEY (site_id) REFERENCES sites (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- owning_site_id fences ownership between sites (cross-site overflow hands a
-- ticket over by changing it under the version check).
CREATE TABLE tickets (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ref              VARCHAR(32)  NOT NULL,
  kind             ENUM('call','complaint','inquiry','return_refund') NOT NULL,
  channel          ENUM('phone','web','email','chat','sms') NOT NULL,
  state            ENUM('new','queued','offered','in_progress','pending_customer','resolved','closed')
                   NOT NULL DEFAULT 'new',
  priority         TINYINT UNSIGNED NOT NULL DEFAULT 5,
  severity         TINYINT UNSIGNED NULL,
  subject          VARCHAR(255) NOT NULL DEFAULT '',
  customer_id      BIGINT UNSIGNED NULL,
  site_id          INT UNSIGNED NULL,
  queue_id         INT UNSIGNED NULL,
  owner_agent_id   INT UNSIGNED NULL,
  owning_site_id   INT UNSIGNED NULL,
  version          INT UNSIGNED NOT NULL DEFAULT 1,
  enqueued_at      DATETIME(3)  NULL,
  created_at       DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at       DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uk_tickets_ref (ref),
  KEY ix_tickets_customer (customer_id, created_at),
  KEY ix_tickets_queue_state (queue_id, state, enqueued_at),
  KEY ix_tickets_owner_state (owner_agent_id, state),
  CONSTRAINT ck_tickets_severity CHECK (severity IS NULL OR severity BETWEEN 1 AND 4),
  CONSTRAINT fk_tickets_customer FOREIGN KEY (customer_id) REFERENCES customers (id),
  CONSTRAINT fk_tickets_site FOREIGN KEY (site_id) REFERENCES sites (id),
  CONSTRAINT fk_tickets_queue FOREIGN KEY (queue_id) REFERENCES queues (id),
  CONSTRAINT fk_tickets_owner FOREIGN KEY (owner_agent_id) REFERENCES agents (id),
  CONSTRAINT fk_tickets_owning_site FOREIGN KEY (owning_site_id) REFERENCES sites (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Append-only: the server only INSERTs here. hash = SHA-256(prev_hash ||
-- canonical row), chained per ticket by seq.
CREATE TABLE ticket_events (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  ticket_id       BIGINT UNSIGNED NOT NULL,
  seq             INT UNSIGNED NOT NULL,
  actor_agent_id  INT UNSIGNED NULL,
  actor           VARCHAR(64)  NOT NULL,
  op              VARCHAR(64)  NOT NULL,
  old_value       VARCHAR(255) NULL,
  new_value       VARCHAR(255) NULL,
  detail          TEXT NULL,
  created_at      DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  prev_hash       BINARY(32)   NOT NULL,
  hash            BINARY(32)   NOT NULL,
  UNIQUE KEY uk_ticket_events_seq (ticket_id, seq),
  CONSTRAINT fk_ticket_events_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
