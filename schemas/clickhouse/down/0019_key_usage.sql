-- Undoes 0019: when keys were last used, bookkeeping the services write again.
DROP TABLE IF EXISTS api_key_usage;
