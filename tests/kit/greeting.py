"""A tiny workflow for the outbox tests (its own module: the workflow sandbox re-imports it)."""

from temporalio import workflow


@workflow.defn(name="GreetWorkflow")
class GreetWorkflow:
    def __init__(self) -> None:
        self.touches = 0

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.wait_condition(lambda: self.touches >= 1)
        return f"hello {name}, touched {self.touches}"

    @workflow.signal
    def touch(self) -> None:
        self.touches += 1
