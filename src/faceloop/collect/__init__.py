"""Collecting photos from where people post them: one module per kind of source behind one small
interface (`base.py`), one fetcher for every network request (`fetch.py`: timeouts, retries,
rate limits, size and type checks, the address guard), and the run that stores what is new
(`run.py`)."""
