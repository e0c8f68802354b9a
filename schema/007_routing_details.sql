-- 007_routing_details: two routing settings (docs/ROUTING.md).
--
-- agents.wrapup_seconds: this agent's wrap-up after work, in place of the
-- queue's (NULL: the queue's). queues.critical_queue_id: where complaints
-- of the gravest grade (severity 1) created for this queue go instead (a
-- senior queue; NULL: they stay).
ALTER TABLE agents
  ADD COLUMN wrapup_seconds INT UNSIGNED NULL,
  ADD CONSTRAINT ck_agents_wrapup CHECK (wrapup_seconds IS NULL OR wrapup_seconds <= 3600);

ALTER TABLE queues
  ADD COLUMN critical_queue_id INT UNSIGNED NULL,
  ADD CONSTRAINT fk_queues_critical FOREIGN KEY (critical_queue_id) REFERENCES queues (id);
