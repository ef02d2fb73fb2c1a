from coovox.cli import main

raise SystemExit(main())
