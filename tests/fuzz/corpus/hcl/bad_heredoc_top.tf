<<EOF
