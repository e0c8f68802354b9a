-- 010_skill_stats: a queue's short-abandon threshold, and rollups per skill
-- (docs/ROUTING.md, "Queue statistics" and "Rollups").
--
-- short_abandon_seconds: a contact that leaves the queue unanswered after
-- waiting less than this is a short abandon (a misdial, an instant
-- hang-up), counted apart and in no service level, speed of answer or
-- abandon figure. 0 turns it off: every abandon counts. Off by default, so
-- the abandon counts of days already rolled up keep their meaning after an
-- upgrade; set it per queue with queue.set (5 to 10 seconds is usual).
ALTER TABLE queues
  ADD COLUMN short_abandon_seconds SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  ADD CONSTRAINT ck_queues_short_abandon CHECK (short_abandon_seconds <= 600);

-- Rollups of each skill's figures: scope 'skill', scope_id the skill's id,
-- site_id the site whose midnight resets the skill (the lowest site id).
-- Appended last: the server reads a scope by its position in the list.
ALTER TABLE stats_intervals
  MODIFY COLUMN scope ENUM('all','site','queue','agent','skill') NOT NULL;
