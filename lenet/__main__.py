"""`python -m lenet`: train from the command line (`python -m lenet --help` lists every setting)."""

from lenet.cli import main

main()
