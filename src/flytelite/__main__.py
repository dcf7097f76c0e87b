from flytelite.entrypoint.cli import main

main()
