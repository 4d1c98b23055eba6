// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// react-dom 19's server renderer (which @grafana/ui imports for TruncatedText) creates a
// MessageChannel when it loads; jsdom has none. Nothing here renders on a server, so a channel
// that delivers on a timer is enough and, unlike Node's, keeps no handle open.
if (typeof global.MessageChannel === 'undefined') {
  global.MessageChannel = class MessageChannel {
    constructor() {
      this.port1 = { onmessage: null, postMessage: (data) => setTimeout(() => this.port2.onmessage?.({ data })) };
      this.port2 = { onmessage: null, postMessage: (data) => setTimeout(() => this.port1.onmessage?.({ data })) };
    }
  };
}

// @grafana/ui's Select menu watches its options with an IntersectionObserver; jsdom has none.
if (typeof global.IntersectionObserver === 'undefined') {
  global.IntersectionObserver = class IntersectionObserver {
    observe() {}
    unobserve() {}
    disconnect() {}
    takeRecords() {
      return [];
    }
  };
}
