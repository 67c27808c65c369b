-- Everything V1 kept is in the V2 tables now.
DROP TABLE v1_device;
DROP TABLE v1_events;
DROP TABLE v1_command_log;
DROP TABLE v1_process_state;
DROP TABLE v1_scheduled_commands;
