-- 006_product_line: the product line a ticket is about ("apparel",
-- "luxury"), set with ticket.update; routing then needs the skill
-- product.<line> when there is one (docs/ROUTING.md).
ALTER TABLE tickets
  ADD COLUMN product_line VARCHAR(32) CHARACTER SET ascii NULL AFTER language;
