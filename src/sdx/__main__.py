from sdx.cli import main

main()
