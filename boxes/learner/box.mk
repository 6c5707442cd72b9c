lib-src += $(wildcard boxes/learner/*.c)
