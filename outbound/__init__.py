"""TEMPORARY stand-in of the outbound-URL policy (helper ``outbound`` writes the real package):
the merger drops this directory in favour of main's."""
