

red