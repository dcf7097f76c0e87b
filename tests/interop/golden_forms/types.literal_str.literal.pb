

slow