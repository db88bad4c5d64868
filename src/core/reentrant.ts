// Driving the core from callbacks: a listener that calls back in while a pass runs must not start
// a second pass inside the first (events would be handled out of order); its call is folded into
// the running pass, which repeats until nobody asked again.

export class Reentrant {
  private running = false;
  private again = false;

  run(pass: () => void): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        pass();
      } while (this.again);
    } finally {
      this.running = false;
    }
  }
}
