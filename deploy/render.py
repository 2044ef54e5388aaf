"""Fill a deploy template's ${NAME} fields from the environment; a missing one is an error."""

import os
import string
import sys

if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as template:
        sys.stdout.write(string.Template(template.read()).substitute(os.environ))
