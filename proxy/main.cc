// Placeholder until the proxy lands.
int main() { return 0; }
