-- 005_calls: calls from the phone system (docs/PROTOCOL.md, call.*).
--
-- call_routes maps the number the caller dialled, and the IVR choice they
-- made ('' for none), to a queue and a priority: the most specific row
-- wins ((dialled, ivr) before (dialled, '')).
CREATE TABLE call_routes (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  dialled     VARCHAR(32)  CHARACTER SET ascii NOT NULL,
  ivr         VARCHAR(16)  CHARACTER SET ascii NOT NULL DEFAULT '',
  queue_id    INT UNSIGNED NOT NULL,
  priority    TINYINT UNSIGNED NOT NULL DEFAULT 5,
  UNIQUE KEY uk_call_routes (dialled, ivr),
  CONSTRAINT ck_call_routes_priority CHECK (priority BETWEEN 1 AND 9),
  CONSTRAINT fk_call_routes_queue FOREIGN KEY (queue_id) REFERENCES queues (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per call the phone system reported, keyed by its own call id so
-- that a repeated call.arrive (a retry after a timeout) finds the ticket it
-- made the first time. The ticket holds the history; this row holds the
-- call's own times for reports (answered within the service level,
-- abandoned after how long).
CREATE TABLE calls (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  call_id      VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  ticket_id    BIGINT UNSIGNED NOT NULL,
  caller       VARCHAR(32)  CHARACTER SET ascii NOT NULL DEFAULT '',
  dialled      VARCHAR(32)  CHARACTER SET ascii NOT NULL,
  ivr          VARCHAR(16)  CHARACTER SET ascii NOT NULL DEFAULT '',
  state        ENUM('waiting','answered','ended','abandoned','callback') NOT NULL DEFAULT 'waiting',
  agent_id     INT UNSIGNED NULL,
  callback_to  VARCHAR(32)  CHARACTER SET ascii NULL,
  arrived_at   DATETIME(3)  NOT NULL,
  answered_at  DATETIME(3)  NULL,
  ended_at     DATETIME(3)  NULL,
  UNIQUE KEY uk_calls_call_id (call_id),
  KEY ix_calls_ticket (ticket_id),
  KEY ix_calls_arrived (arrived_at),
  CONSTRAINT fk_calls_ticket FOREIGN KEY (ticket_id) REFERENCES tickets (id),
  CONSTRAINT fk_calls_agent FOREIGN KEY (agent_id) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
