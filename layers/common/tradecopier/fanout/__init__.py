"""Fan-out: the leader event's way from ingest to every follower queue (the only SNS/SQS/Lambda user).

ingest → ``publish`` (one SNS FIFO publish per topic shard of the group) → ``topics`` (the group's
SNS FIFO topics, at most 100 subscriptions each) → ``followers`` (one SQS FIFO queue + DLQ per
follower, subscribed to a group topic, polled by the executor through an event source mapping).
The admin function creates and removes topics and follower queues at runtime; ingest only
publishes, so ``publish`` imports nothing of the rest.
"""
