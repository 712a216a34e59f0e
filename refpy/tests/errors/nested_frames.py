def inner(d):
    return d["missing"]


def middle(d):
    return inner(d) + 1


class Runner:
    def run(self):
        return middle({})


Runner().run()
