from private_registries.cli import main

raise SystemExit(main())
