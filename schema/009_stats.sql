-- 009_stats: statistics rollups and queue alerts (docs/ROUTING.md, "Rollups"
-- and "Alerts"; docs/PROTOCOL.md, stats.report).
--
-- One row per rollup interval (stats.rollup_seconds long, aligned to the
-- interval length in UTC) and scope: what was counted in that interval,
-- written by callcentred at the interval's end from its live statistics.
-- A rewrite of the same row sets the same values, so a retried write is
-- harmless. scope_id is the site, queue or agent id (0 for 'all');
-- site_id is the site the figures count in (the site whose midnight resets
-- them; 0 for 'all'): the restore at start-up and the site fence of
-- stats.report read by it. The counters are those of the live statistics
-- (docs/ROUTING.md, "Queue statistics"): "within" is within the queue's
-- service-level threshold, the *_ms_sum columns are sums of waits, talks
-- and wrap-ups, and busy_ms .. paused_ms the agents' time per state, where
-- available_ms is time logged in and not paused (ready, reserved, busy,
-- wrap-up). Times are in milliseconds.
CREATE TABLE stats_intervals (
  interval_start      BIGINT          NOT NULL,
  scope               ENUM('all','site','queue','agent') NOT NULL,
  scope_id            INT UNSIGNED    NOT NULL,
  site_id             INT UNSIGNED    NOT NULL,
  offered             INT UNSIGNED    NOT NULL DEFAULT 0,
  presented           INT UNSIGNED    NOT NULL DEFAULT 0,
  answered            INT UNSIGNED    NOT NULL DEFAULT 0,
  answered_within     INT UNSIGNED    NOT NULL DEFAULT 0,
  abandoned           INT UNSIGNED    NOT NULL DEFAULT 0,
  abandoned_within    INT UNSIGNED    NOT NULL DEFAULT 0,
  short_abandoned     INT UNSIGNED    NOT NULL DEFAULT 0,
  transferred_in      INT UNSIGNED    NOT NULL DEFAULT 0,
  transferred_out     INT UNSIGNED    NOT NULL DEFAULT 0,
  wait_ms_sum         BIGINT UNSIGNED NOT NULL DEFAULT 0,
  abandon_wait_ms_sum BIGINT UNSIGNED NOT NULL DEFAULT 0,
  talk_ms_sum         BIGINT UNSIGNED NOT NULL DEFAULT 0,
  wrapup_ms_sum       BIGINT UNSIGNED NOT NULL DEFAULT 0,
  handled             INT UNSIGNED    NOT NULL DEFAULT 0,
  wrapups             INT UNSIGNED    NOT NULL DEFAULT 0,
  busy_ms             BIGINT UNSIGNED NOT NULL DEFAULT 0,
  wrapup_ms           BIGINT UNSIGNED NOT NULL DEFAULT 0,
  reserved_ms         BIGINT UNSIGNED NOT NULL DEFAULT 0,
  available_ms        BIGINT UNSIGNED NOT NULL DEFAULT 0,
  paused_ms           BIGINT UNSIGNED NOT NULL DEFAULT 0,
  csat_sum            BIGINT UNSIGNED NOT NULL DEFAULT 0,
  csat_count          INT UNSIGNED    NOT NULL DEFAULT 0,
  complaints_1        INT UNSIGNED    NOT NULL DEFAULT 0,
  complaints_2        INT UNSIGNED    NOT NULL DEFAULT 0,
  complaints_3        INT UNSIGNED    NOT NULL DEFAULT 0,
  complaints_4        INT UNSIGNED    NOT NULL DEFAULT 0,
  sla_warnings        INT UNSIGNED    NOT NULL DEFAULT 0,
  sla_breaches        INT UNSIGNED    NOT NULL DEFAULT 0,
  PRIMARY KEY (interval_start, scope, scope_id),
  KEY ix_stats_intervals_site (site_id, scope, interval_start),
  KEY ix_stats_intervals_scope (scope, interval_start),
  CONSTRAINT ck_stats_intervals_start CHECK (interval_start >= 0),
  CONSTRAINT ck_stats_intervals_all CHECK ((scope = 'all') = (scope_id = 0))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Alert thresholds of a queue (NULL: no alert of that kind): the service
-- level today below alert_sl_below (0..1), the longest wait now above
-- alert_wait_above_seconds, and, with alert_on_breach = 1, any SLA breach
-- open on the queue's work.
ALTER TABLE queues
  ADD COLUMN alert_sl_below           DECIMAL(4,3) NULL,
  ADD COLUMN alert_wait_above_seconds INT UNSIGNED NULL,
  ADD COLUMN alert_on_breach          TINYINT(1)   NOT NULL DEFAULT 0,
  ADD CONSTRAINT ck_queues_alert_sl CHECK (alert_sl_below IS NULL
    OR alert_sl_below BETWEEN 0 AND 1),
  ADD CONSTRAINT ck_queues_alert_wait CHECK (alert_wait_above_seconds IS NULL
    OR alert_wait_above_seconds BETWEEN 1 AND 86400),
  ADD CONSTRAINT ck_queues_alert_breach CHECK (alert_on_breach IN (0, 1));
