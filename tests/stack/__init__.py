"""`make stack-test`: the Compose stack up on a real Docker engine, checked as a user would.

Run as `python -m tests.stack` from the project root. It is not collected by pytest: it needs a
Docker engine, builds or pulls images and takes minutes. tests/unit/test_stack_driver.py covers its
pure logic.
"""
