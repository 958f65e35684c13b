// The reference server and its one-command demo belong to the next milestone.
console.log(
  'LeadRelay demo: the reference server (examples/express-server) is not built yet.\n' +
    'The engine packages are ready to import; run the test suite to see them work:\n' +
    '  npx -y pnpm@10 install && npx -y pnpm@10 test',
);
