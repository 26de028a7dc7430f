-- Undoes 0011: when each day's last fight ended, a roll-up column (0011 computes it again).
ALTER TABLE guild_days DROP COLUMN last_end_ms;
