-- Opening a V1 store (see tests/fixtures/v1/README.md): its tables step aside under v1_
-- names, the V2 schema is created beside them (migrations/local/0001…), the log and the
-- state V1 kept are copied across (ids and stream ids from text to bytes, payloads as they
-- are: old shapes are upcast on read), every read model is rebuilt from the log, and the
-- v1_ tables go (0002_drop_v1.sql). All of it is one transaction: a crash leaves the V1
-- store as it was, and the next start migrates it again.
ALTER TABLE device RENAME TO v1_device;
ALTER TABLE events RENAME TO v1_events;
ALTER TABLE command_log RENAME TO v1_command_log;
ALTER TABLE process_state RENAME TO v1_process_state;
ALTER TABLE scheduled_commands RENAME TO v1_scheduled_commands;
-- V1's read models are rebuilt from the log in V2's shape.
DROP TABLE conferences_view;
DROP TABLE seat_types_view;
DROP TABLE orders_view;
