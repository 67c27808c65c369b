-- Everything V1 kept is in the V2 tables now.
DROP TABLE v1_devices;
DROP TABLE v1_events;
DROP TABLE v1_commands;
