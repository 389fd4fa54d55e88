"""``tradecopier``: the copier's command line. It speaks HTTP to the API only (API.md).

Exit codes (scripts may rely on them):
  0  done
  1  the API refused the request (4xx other than 404, or 5xx): the line says why
  2  bad usage: unknown flag, missing argument, bad value
  3  not found: no such group, follower, event or account (or the stack lacks that route)
  4  target not usable: local stack not running, stack not found or without ApiUrl,
     AWS credentials missing or expired
  130 interrupted (Ctrl-C)
"""

OK, API_REFUSED, USAGE, NOT_FOUND, TARGET, INTERRUPTED = 0, 1, 2, 3, 4, 130
