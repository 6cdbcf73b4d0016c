from benchwarden.cli.app import main

main()
