-- PvP fights: battlegrounds are a kind of fight of their own, and a Solo Shuffle's rounds
-- are fights under their match (parent_start_line) with a round number; the match
-- carries the rounds the log owner's side won. Adding an Enum8 value changes metadata
-- only; the new columns are NULL for every fight written before.

ALTER TABLE encounters MODIFY COLUMN kind Enum8('encounter' = 1, 'challenge_mode' = 2, 'arena' = 3, 'battleground' = 4);

ALTER TABLE encounters ADD COLUMN round Nullable(Int32);

ALTER TABLE encounters ADD COLUMN rounds_won Nullable(Int32);
