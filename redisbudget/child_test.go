package redisbudget

const childEnv = "PACER_REDISBUDGET_CHILD"

func runChild() int { return 0 }
