DROP TABLE reserved_request_ids;
