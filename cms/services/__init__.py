"""The rules of the CMS: plain arguments in, models out; callers commit."""
