"""`python -m commerce`, the same as the `commerce` console script."""

from commerce.cli import main

if __name__ == "__main__":
    main()
